# The two commands that matter: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WITNESS_PORT ?= 8701
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)

.PHONY: run test install migrate demo serve bench lint messages lock clean

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## Set everything up and serve the platform with demo data at http://localhost:8000
## (with the audit witness beside it on 127.0.0.1:$(WITNESS_PORT); both stop together)
run: install
	@test -n "$$DATABASE_URL" || test -f var/db.sqlite3 || rm -rf var/witness  # new log, new witness
	@$(PY) -m audit.witness --port $(WITNESS_PORT) --state-dir var/witness & WITNESS_PID=$$!; \
	trap 'kill $$WITNESS_PID 2>/dev/null' EXIT INT TERM; \
	for i in 1 2 3 4 5 6 7 8 9 10; do test -f var/witness/witness_key.pub && break; sleep 0.3; done; \
	export AUDIT_WITNESS_URL=http://127.0.0.1:$(WITNESS_PORT) \
	       AUDIT_PINNED_KEY_FILE=var/audit-pinned-platform-key.pem; \
	$(PY) manage.py migrate --noinput && \
	$(PY) manage.py load_demo && \
	$(PY) manage.py audit_export_key $$AUDIT_PINNED_KEY_FILE && \
	$(PY) manage.py verify_audit && \
	echo "Serving HTTP and websockets at http://localhost:$(PORT)  (Ctrl-C stops)" && \
	AUDIT_WITNESS_KEY_FILE=var/witness/witness_key.pub \
	$(VENV)/bin/uvicorn tradecentre.asgi:application --host $(HOST) --port $(PORT) --lifespan off --ws websockets-sansio

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
	$(PY) manage.py makemessages -l zh_Hans --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*'
	$(PY) manage.py makemessages -d djangojs -l zh_Hans --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*'
	$(PY) manage.py compilemessages -l zh_Hans --ignore '.venv/*'

## Re-resolve requirements.in into the pinned requirements.txt
lock: install
	$(PY) -m pip install --quiet -r requirements.in
	$(PY) -m pip freeze > requirements.txt

clean:
	rm -rf var/db.sqlite3 var/media
