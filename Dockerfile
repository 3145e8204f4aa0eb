# The Messages & Workflows API mock.
#   docker build -t messages-mockserver .
#   docker run --rm -p 8181:8181 messages-mockserver
# Every setting is a MOCK_* variable: docker run -e MOCK_CLOCK=manual -e MOCK_STATUS_URL=http://... ...
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY . /src
# The README's install: a regular install of this source tree (the schemas ship inside the package).
RUN pip install --no-cache-dir .

RUN useradd --create-home --uid 10001 mock && mkdir /data && chown mock /data
USER mock
# A state file (MOCK_STATE_FILE=/data/mock.db) goes here; mount a volume on /data to keep it.
WORKDIR /data

ENV MOCK_HOST=0.0.0.0 MOCK_PORT=8181
EXPOSE 8181
# No curl in the slim image: Python's urllib asks /_mock/health (with the control token, if one is set).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD python -c "import os, urllib.request as r; r.urlopen(r.Request('http://127.0.0.1:%s/_mock/health' % os.environ.get('MOCK_PORT', '8181'), headers={'X-Mock-Token': os.environ.get('MOCK_CONTROL_TOKEN', '')}), timeout=2)"
CMD ["mockserver"]
