"""The live layer: the /ws endpoint and the per-process hub that fans events out to sockets."""
