"""Experience daemon: the service API, the JSON-RPC server and the CLI."""
