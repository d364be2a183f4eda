# Linghang: `make run` sets everything up and serves the app; `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 5000
# Exported: the app derives its default BASE_URL (links in mails and feeds) from them.
export HOST PORT
PYTEST_ARGS ?=
# Test processes in parallel (the CI machine has 2 cores).
TEST_WORKERS ?= 2
VENDOR := app/static/vendor

.PHONY: install run test assets translations extract lint bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR)/.installed: node_modules/.installed
	mkdir -p $(VENDOR)/bootstrap $(VENDOR)/bootstrap-icons $(VENDOR)/tom-select $(VENDOR)/swagger-ui
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/css/bootstrap.min.css.map $(VENDOR)/bootstrap/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js node_modules/bootstrap/dist/js/bootstrap.bundle.min.js.map $(VENDOR)/bootstrap/
	cp -r node_modules/bootstrap-icons/font/bootstrap-icons.min.css node_modules/bootstrap-icons/font/fonts $(VENDOR)/bootstrap-icons/
	cp node_modules/tom-select/dist/js/tom-select.complete.min.js node_modules/tom-select/dist/js/tom-select.complete.min.js.map $(VENDOR)/tom-select/
	cp node_modules/tom-select/dist/css/tom-select.bootstrap5.min.css node_modules/tom-select/dist/css/tom-select.bootstrap5.min.css.map $(VENDOR)/tom-select/
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui-bundle.js.map node_modules/swagger-ui-dist/swagger-ui.css node_modules/swagger-ui-dist/swagger-ui.css.map $(VENDOR)/swagger-ui/
	touch $@

install: $(VENV)/.installed assets translations

assets: $(VENDOR)/.installed

translations: $(VENV)/.installed
	$(VENV)/bin/pybabel compile -d app/translations

# Re-extract the catalogue after adding strings; then translate app/translations/zh/LC_MESSAGES/messages.po
extract: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -k pgettext:1c,2 -k lazy_pgettext:1c,2 --no-location --sort-output --no-wrap -o app/translations/messages.pot .
	$(VENV)/bin/pybabel update --no-fuzzy-matching --no-wrap -i app/translations/messages.pot -d app/translations

run: install
	$(FLASK) --app wsgi db upgrade
	$(FLASK) --app wsgi demo load --if-empty
	@echo ""
	@echo "Linghang 领航 is at http://$(HOST):$(PORT)/"
	@$(FLASK) --app wsgi demo accounts
	$(FLASK) --app wsgi run --host $(HOST) --port $(PORT)

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR)
