"""admin layer of the kiosk."""
