"""Evidence: per-order proof, review and the appeal dossier (built out by the evidence work)."""
