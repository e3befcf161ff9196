"""Reference for bench/webhook.py: a bare wechatpy echo (parse + reply, no database)."""
from flask import Flask, Response, request
from wechatpy import create_reply, parse_message

app = Flask(__name__)


@app.post("/wechat")
def echo() -> Response:
    msg = parse_message(request.get_data())
    return Response(create_reply(getattr(msg, "content", "") or "欢迎", msg).render(),
                    mimetype="application/xml")
