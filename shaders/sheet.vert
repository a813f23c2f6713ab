// sheet.vert: the input square mapped through the network into one panel.
// attributes: a_x (vec2: input coordinate, uploaded once)
// uniforms:   network.glsl's and anatomy.glsl's (u_stage), u_space (float: 0 lift, 1 plane, 2 input)
// varyings:   v_x (input coordinate), v_pos (panel position, for the lift's lighting)
// hooks:      $transform (VisPy: panel coordinates -> clip space)
#include "network.glsl"
#include "anatomy.glsl"

attribute vec2 a_x;
uniform float u_space;
varying vec2 v_x;
varying vec3 v_pos;

void main() {
    v_x = a_x;
    v_pos = staged_place(a_x, u_space);
    gl_Position = $transform(vec4(v_pos, 1.0));
}
