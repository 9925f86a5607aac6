// The layers of src/, top down (docs/ARCHITECTURE.md), enforced by eslint.config.js: a file may
// import from its own folder and from the layers below its own, never from one above or beside
// it. Each name is a folder (or a file) directly under src/; a unit test checks that every one is
// named here.
export const LAYERS = [
  ['cli'],
  ['run'],
  ['steps'],
  ['verify'],
  ['preflight'],
  ['plan'],
  ['facts'],
  ['record', 'state'],
  ['docker'],
  ['config'],
  ['host'],
  ['archive', 'report', 'fs', 'text'],
  ['errors', 'json-copy', 'map-limit', 'version'],
];
