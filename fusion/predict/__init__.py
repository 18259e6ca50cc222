"""`fusion predict`: exported models run on sample files, without the training stack."""
