"""Evaluation suite: gold questions, retrieval and grounding metrics, a LangChain-tutorial baseline,
the runner that writes the report, and the CI gate (`policy-assistant eval --gate`)."""
