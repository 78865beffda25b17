// charts: to be written
