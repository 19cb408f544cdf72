// express4 is an npm alias of Express 4; its API is what @types/express describes for what the tests use.
declare module 'express4' {
  import express from 'express';
  export default express;
}
