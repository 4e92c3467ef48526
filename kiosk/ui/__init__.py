"""ui layer of the kiosk."""
