"""One module per subcommand; each exposes a function that returns an exit code."""
