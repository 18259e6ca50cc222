"""`fusion report`: one self-contained HTML page about a finished run folder."""
