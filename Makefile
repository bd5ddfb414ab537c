# The two commands that matter: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)

.PHONY: run test install migrate demo serve bench lint messages lock clean

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## Set everything up and serve the platform with demo data at http://localhost:8000
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py verify_audit
	@echo "Serving HTTP and websockets at http://localhost:$(PORT)  (Ctrl-C stops)"
	$(VENV)/bin/uvicorn tradecentre.asgi:application --host $(HOST) --port $(PORT) --lifespan off

## Run the whole test suite (installs the Python requirements first)
test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/run.py

## Lint: ruff, and the import contracts that keep the house (pyproject.toml)
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

## Regenerate the translations catalogue (needs gettext) and compile it
messages: install
	$(PY) manage.py makemessages -l zh_Hans --ignore '.venv/*' --ignore 'var/*'
	$(PY) manage.py makemessages -d djangojs -l zh_Hans --ignore '.venv/*' --ignore 'var/*'
	$(PY) manage.py compilemessages -l zh_Hans --ignore '.venv/*'

## Re-resolve requirements.in into the pinned requirements.txt
lock: install
	$(PY) -m pip install --quiet -r requirements.in
	$(PY) -m pip freeze > requirements.txt

clean:
	rm -rf var/db.sqlite3 var/media
