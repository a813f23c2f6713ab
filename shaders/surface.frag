// surface.frag: the translucent decision surface, lit like the sheet.
// uniforms: u_color (vec4), u_light (vec3: towards the light; zero = unlit)
// varyings: v_pos, v_keep, v_normal (interpolated: smooth shading, no facets)
uniform vec4 u_color;
uniform vec3 u_light;
varying vec3 v_pos;
varying float v_keep;
varying vec3 v_normal;

void main() {
    if (v_keep < 0.999) discard;
    vec3 rgb = u_color.rgb;
    if (dot(u_light, u_light) > 0.0) {
        vec3 n = normalize(v_normal + vec3(1e-30));
        rgb *= 0.7 + 0.3 * abs(dot(n, u_light));
    }
    gl_FragColor = vec4(rgb, u_color.a);
}
