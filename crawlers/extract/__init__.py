"""Reading listings and sellers out of pages: field rules, JSON mappings, structured data."""
