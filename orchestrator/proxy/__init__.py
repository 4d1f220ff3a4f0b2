"""The outbound proxy: credentials, egress rules, retries, and connections as runs see them."""
