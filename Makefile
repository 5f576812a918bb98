# The README's commands. `make demo` and `make test` each install what is missing first.
.PHONY: install demo test lint format bench clean db-up db-down

VENV := .venv
BIN := $(VENV)/bin
GRONDSLAG := $(BIN)/grondslag
HOST ?= 127.0.0.1
PORT ?= 8000
BRO_SAMPLES := $(wildcard data/samples/bro_* data/samples/gef_*)

install:
	bash scripts/bootstrap.sh

demo: install
	$(GRONDSLAG) db up
	$(GRONDSLAG) db migrate
	$(GRONDSLAG) db seed
	$(GRONDSLAG) etl run --all
	@# the bundled BRO/GEF samples; exit code 1 = a file failed (reported above), the rest is loaded
	$(GRONDSLAG) etl ingest $(BRO_SAMPLES) --source bro-samples || [ $$? -eq 1 ]
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
