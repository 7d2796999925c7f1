"""Reports and dashboards, spreadsheets (CSV/Excel exports, customer import): issue 11 parts 6 and 7."""
