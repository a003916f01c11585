"""One module per ``geocolor`` subcommand; each exports ``command``. Keep them thin."""
