"""sync layer of the kiosk."""
