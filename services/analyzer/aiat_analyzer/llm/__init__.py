"""The LLM refiner (`refiner.py`) and its chat backends: llama.cpp on CPU, vLLM on GPU."""
