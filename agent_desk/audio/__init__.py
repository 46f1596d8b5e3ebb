"""Recording import, pydub processing and waveform peaks."""
