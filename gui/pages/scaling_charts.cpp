// Charts of this page: written with the page (a helper is writing it).
