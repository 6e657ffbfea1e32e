"""Benchmarks behind `jianfu bench NAME --out FILE`: each returns a JSON-ready dict."""
