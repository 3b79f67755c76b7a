# coding: utf8
# prefork.py: the tutorial's PreForking server (../shared/seed/prefork.md,
# "服务器 4：【PreForking同步】模型"), ported to Python 3 for forkrpc's bench.
#
# Its own code otherwise. The only changes, each marked "py3" or "bench":
# - py3: print is a function; the socket carries bytes, so the answer is
#   encoded before it is sent (json.loads takes bytes as it is);
# - bench: the port comes from the command line (the tutorial binds 8080),
#   so the bench can start it on a free port.
# Everything else is kept as the tutorial wrote it, on purpose: listen(1),
# 10 forked children plus the parent all accepting, one connection at a time
# per process, a print per request, a single recv(length) per body, no error
# handling. The bench measures that server, not a better one.
#
#   python3 bench/peers/tutorial-py3/prefork.py [PORT]

import os
import sys
import json
import struct
import socket


def handle_conn(conn, addr, handlers):
    print(addr, "comes")  # py3
    while True:
        length_prefix = conn.recv(4)
        if not length_prefix:
            print(addr, "bye")  # py3
            conn.close()
            break  # 关闭连接，继续处理下一个连接
        length, = struct.unpack("I", length_prefix)
        body = conn.recv(length)
        request = json.loads(body)
        in_ = request['in']
        params = request['params']
        print(in_, params)  # py3
        handler = handlers[in_]
        handler(conn, params)


def loop(sock, handlers):
    while True:
        conn, addr = sock.accept()
        handle_conn(conn, addr, handlers)


def ping(conn, params):
    send_result(conn, "pong", params)


def send_result(conn, out, result):
    response = json.dumps({"out": out, "result": result}).encode()  # py3
    length_prefix = struct.pack("I", len(response))
    conn.sendall(length_prefix)
    conn.sendall(response)


def prefork(n):
    for i in range(n):
        pid = os.fork()
        if pid < 0:  # fork error
            return
        if pid > 0:  # parent process
            continue
        if pid == 0:
            break  # child process


if __name__ == '__main__':
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080  # bench
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("localhost", port))  # bench: port
    sock.listen(1)
    prefork(10)  # 好戏在这里，开启了 10 个子进程
    handlers = {
        "ping": ping
    }
    loop(sock, handlers)
