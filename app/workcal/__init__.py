"""China's working calendar: statutory holidays computed for any year, the State Council's arrangements."""
