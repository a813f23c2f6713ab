// halfplane.vert: a rectangle over the plane panel's range box (uploaded once).
// attributes: a_h (vec2: plane coordinate h2)
// varyings:   v_h (vec2)
// hooks:      $transform
attribute vec2 a_h;
varying vec2 v_h;

void main() {
    v_h = a_h;
    gl_Position = $transform(vec4(a_h, 0.0, 1.0));
}
