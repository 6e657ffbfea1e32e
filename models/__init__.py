"""jianfu's learned part and its data contract. No HTTP and no database here."""
