"""One widget per screen; each renders plain data and emits the patient's choices as Signals."""
