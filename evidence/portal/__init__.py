"""Client portal evidence API: uploads, downloads and removal of the client's own evidence."""
