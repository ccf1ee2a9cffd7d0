"""The web app: the Streamlit page that `streamlit run app.py` serves, and the server machinery behind it.

`page` draws the page (a `main()` and small `*_ui()` functions that return values), `retrain` the
Retrain tab; `view` holds the page's state as plain data (defaults, the URL's query parameters, number
formats), `panel` the main view's pictures and figures as one block of HTML, `figures` its plotly
charts, `cache` the results a server computes once for all its visitors;
`worker` runs trainings in a process of their own and `slots` limits how many run on a machine.
Everything that computes is in the `denoiser` library, which never imports this package.
"""
