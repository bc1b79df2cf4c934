"""gunicorn's settings file, read from the working directory (/app in the image).

gunicorn's master and its workers log through the same handler, format and time zone (UTC)
as the application (agency.logs), so every line of the service reads alike.
"""

import os

from agency.logs import logging_config

logconfig_dict = logging_config(
    json=os.environ.get("LOG_FORMAT", "plain") == "json", level=os.environ.get("LOG_LEVEL", "INFO")
)

# The access line without gunicorn's own local-time stamp (the record's time is in UTC),
# with the request id the application gave the answer.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s" request_id=%({x-request-id}o)s'
