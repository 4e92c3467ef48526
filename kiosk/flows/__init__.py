"""flows layer of the kiosk."""
