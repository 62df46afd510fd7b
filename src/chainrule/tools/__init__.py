"""Tools around the transforms: gradient checking (and, later, explain, advise, the CLI)."""
