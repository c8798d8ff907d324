"""One generic spider per discovery method (feed, sitemap, listing), plus corrections re-check."""
