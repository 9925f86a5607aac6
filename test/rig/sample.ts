// A small but representative workload for demos: a tagged image, a network with a subnet, a
// named volume with files, a running container publishing a port on 127.0.0.1 and a stopped one.
import { subnetFor, type DaemonInfo } from './dockerd.js';
import { BASE_IMAGE, buildImage, docker } from './images.js';
import { freePort } from './net.js';

export interface SampleWorkload {
  images: string[];
  network: string;
  volume: string;
  running: string;
  stopped: string;
  /** http://127.0.0.1:PORT/ served by the running container. */
  url: string;
}

/** Creates the sample workload on a rig daemon that already has the base image. */
export async function createSampleWorkload(daemon: DaemonInfo): Promise<SampleWorkload> {
  await buildImage(
    daemon,
    'demo/app:1.0',
    `FROM ${BASE_IMAGE}\nCOPY index.html /www/index.html\nLABEL org.example.app=demo\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n`,
    { 'index.html': '<h1>devmapper-migrate demo</h1>\n' },
  );
  await docker(daemon, 'tag', 'demo/app:1.0', 'demo/app:latest');
  const subnet = subnetFor(daemon, 1);
  const base = subnet.replace(/\.0\/24$/, '');
  await docker(daemon, 'network', 'create', '--subnet', subnet, '--gateway', `${base}.1`, '--label', 'org.example.tier=front', 'demo-net');
  await docker(daemon, 'volume', 'create', '--label', 'org.example.backup=daily', 'demo-data');
  await docker(
    daemon, 'run', '--rm', '-v', 'demo-data:/data', BASE_IMAGE,
    'sh', '-c', 'mkdir -p /data/logs && echo hello > /data/greeting.txt && seq 1 1000 > /data/logs/numbers.txt',
  );
  const port = await freePort();
  await docker(
    daemon, 'run', '-d', '--name', 'demo-web', '--restart', 'unless-stopped',
    '--network', 'demo-net', '--ip', `${base}.10`, '--network-alias', 'web',
    '-p', `127.0.0.1:${port}:8080`, '-v', 'demo-data:/data', '--label', 'org.example.role=web', 'demo/app:1.0',
  );
  await docker(daemon, 'run', '--name', 'demo-job', '-v', 'demo-data:/data:ro', BASE_IMAGE, 'cat', '/data/greeting.txt');
  return {
    images: ['demo/app:1.0', 'demo/app:latest', BASE_IMAGE],
    network: 'demo-net',
    volume: 'demo-data',
    running: 'demo-web',
    stopped: 'demo-job',
    url: `http://127.0.0.1:${port}/`,
  };
}
