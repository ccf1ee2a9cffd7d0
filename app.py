"""The denoiser app: `streamlit run app.py`. The page itself is `webapp.page`."""

from webapp.page import main

if __name__ == "__main__":
    main()
