"""The scoring core: tokenize -> encode -> pool -> classify -> threshold, the result
schema and roll-ups. Arrow and numpy in, Arrow and numpy out; no I/O, no integrations."""
