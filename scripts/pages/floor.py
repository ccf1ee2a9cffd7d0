"""The floor of what a slider move costs a Streamlit server: one slider and one figure, nothing else.

    python -m scripts.loadgen --script scripts/pages/floor.py --visitors 1 --moves 60 --think 0.3 0.3

It speaks the app's language for the load generator (the slider is keyed "noise_level", the figure is
labelled "Noisy PSNR", the URL carries `level`) and, like the app, runs its moves in a fragment and
freezes the heap once, so that Streamlit's full garbage collection after every run is not counted.
The app's own cost per move is measured against this, in the same run, on the same machine.
"""

import gc

import streamlit as st


@st.cache_resource
def freeze_once() -> None:
    gc.collect()
    gc.freeze()


@st.fragment
def results() -> None:
    level = st.slider("Noise level", 0.0, 1.0, 0.5, step=0.05, key="noise_level")
    st.metric("Noisy PSNR", f"{-20 * (level or 0.001):.2f} dB")
    st.query_params["level"] = str(level)


freeze_once()
results()
