"""The tester automation port of AUTOMATION.md: a tester drives the running kiosk as a finger would.

`elements` (plain data, no Qt) says what a screen shows; `inspect` reads it off the live widgets;
`driver` taps on the GUI thread; `server` is the HTTP side in its own thread; `client` is what tests and
the scripted demo use to drive a kiosk through the port (requests only).
"""
