import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of a shared server (PostgreSQL, Temporal, SMTP), so a test can take that server away from
 * the process under test without stopping it for everyone else: `refuse()` closes the port (connection refused),
 * `mute()` keeps connections open but drops every answer (a server that took the request and never replied),
 * `restore()` forwards again.
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  let muted = false;
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = net.createServer((client) => {
    track(client);
    const upstream = net.connect(target);
    track(upstream);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => { if (!muted) client.write(chunk); });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const dropAll = () => { for (const socket of sockets) socket.destroy(); };
  return {
    port,
    /** host:port of the proxy. */
    address: `127.0.0.1:${port}`,
    /** Closes the port and every connection: the next connection attempt is refused. */
    async refuse(): Promise<void> {
      await new Promise<void>((resolve) => { server.close(() => resolve()); dropAll(); });
    },
    /** Forwards requests but drops every answer, on open connections and new ones. */
    mute(): void { muted = true; },
    /** Forwards again: reopens the port if it was refused, and drops muted connections (their streams lost bytes). */
    async restore(): Promise<void> {
      if (muted) { muted = false; dropAll(); }
      if (!server.listening) await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    async close(): Promise<void> {
      dropAll();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP proxy as startTcpProxy returns it. */
export type TcpProxy = Awaited<ReturnType<typeof startTcpProxy>>;
