"""Serving the app as several Streamlit replicas behind nginx: `python -m deploy.serve --replicas N --port P`."""
