"""The denoiser app: `streamlit run app.py`. The page itself is `webapp.page`."""

if __name__ == "__main__":
    # Imported here, not above: a training worker started afresh (multiprocessing's spawn) runs this file
    # again as `__mp_main__`, since Streamlit makes it the server's main module, and must not load the page.
    from webapp.page import main

    main()
