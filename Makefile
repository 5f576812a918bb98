# The README's commands. `make demo` and `make test` each install what is missing first.
.PHONY: install demo test lint format bench clean db-up db-down

VENV := .venv
BIN := $(VENV)/bin
GRONDSLAG := $(BIN)/grondslag
HOST ?= 127.0.0.1
PORT ?= 8000

install:
	bash scripts/bootstrap.sh

demo: install
	$(GRONDSLAG) db up
	$(GRONDSLAG) db migrate
	$(GRONDSLAG) db seed
	@if $(GRONDSLAG) etl --help >/dev/null 2>&1; then $(GRONDSLAG) etl run --all; fi
	@echo "Serving the API on http://$(HOST):$(PORT) (OGC API: /ogc, docs: /docs). Ctrl-C stops it."
	$(GRONDSLAG) serve --host $(HOST) --port $(PORT)

test: install lint
	$(BIN)/pytest -q

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	@for b in benchmarks/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

db-up: install
	$(GRONDSLAG) db up

db-down:
	$(GRONDSLAG) db down

clean:
	-$(GRONDSLAG) db down
	rm -rf .grondslag
