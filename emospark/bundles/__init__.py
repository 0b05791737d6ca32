"""Model bundles: the on-disk format and its integrity checks (:mod:`.bundle`), the
registry of known models (:mod:`.registry`), finding them on this machine
(:mod:`.locate`, :mod:`.inventory`) and writing heads (:mod:`.export`). The packaged
default bundle lives here too, as ``minilm-l6-go-emotions/``."""
