# Two entry points, each doing its own set-up (see README.md):
#   make demo   -- create .venv, install hybridocean, run the built-in default case
#   make test   -- create .venv, install hybridocean with its test extras, run the whole suite
# The venv sees the interpreter's site-packages (--system-site-packages), so a torch you
# already have is used as is and never replaced; without one, pip installs the default torch.
PYTHON ?= python3
VENV   ?= .venv
OUT    ?= results/demo
JOBS   ?= 2

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv --system-site-packages $(VENV)
	$(VENV)/bin/python -m pip install --quiet -e ".[test,bench]"
	touch $@

.PHONY: demo test
demo: $(VENV)/.installed
	$(VENV)/bin/hybridocean demo --out $(OUT)

test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest -n $(JOBS) --durations=25 -q
