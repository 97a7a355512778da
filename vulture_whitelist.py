"""Names vulture (``vulture src/amprelay tests bench vulture_whitelist.py --min-confidence 60``)
reports as unused that are used by a framework or declared to mirror the reference."""

# ruff: noqa
_ = object()

_.model_config  # pydantic reads it (amprelay.config)
_.hidden  # destination.action.Action: the reference's action definition field
_.depends_on  # fields.model.Field: the reference's field definition (not evaluated by the relay)
_.Region  # destination.endpoints: the reference's region names, as a type
_._message  # errors.AmprelayError.message stores its value there
_.disconnected  # fakeamp.app: uvicorn's protocol cycle reads it
_.should_exit  # uvicorn.Server reads it
_.install_signal_handlers  # uvicorn.Server calls it (relay.service overrides it)
_.log_message  # http.server.BaseHTTPRequestHandler overrides (tests)
_.do_GET
_.do_POST
_.last_at  # delivery.health.Episode: when the latest failure was (kept with the episode's record)
_.workdir  # pytest fixtures, requested by name
_._outside_the_checkout
_.registered
_._duration  # config.IngestConfig: a pydantic field validator
