"""Text tools: spaCy loading, English morphology, caption SRL, hard negative captions."""
