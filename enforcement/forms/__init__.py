"""WTForms forms, one module per blueprint (auth, admin, cases). Flask-WTF adds CSRF to each."""
